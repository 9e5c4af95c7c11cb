"""chainledger: the ledger and the domain rules of a certificate-free city.

No HTTP and no UI here; `api` and `wallet` build on this package, never the reverse.
"""

from chainledger.compiled import install

install()  # the compiled build of the hot modules, if there is one for these sources
