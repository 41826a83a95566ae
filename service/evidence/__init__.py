"""Evidence bundles of notices (DESIGN §9): what one carries (`bundle`), building one from
this node's store (`build`) and verifying one offline (`verify`). The proof of the log
underneath — card, checkpoint, key statements, inclusion — is `federation.core.evidence`'s;
what makes it the evidence of a notice is this package's.
"""
