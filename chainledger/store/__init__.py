"""Storage: the contract (`base`) and its backends (`sqlite`). SQL lives only here."""
