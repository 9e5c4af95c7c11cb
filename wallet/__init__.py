"""The client side: keys kept by their owners, signing, and verifying what the server says.

Imports only chainledger's pure modules (encoding, crypto, merkle, note, checkpoint, proofs,
receipt), never its store. Its commands arrive with the clients issue.
"""
