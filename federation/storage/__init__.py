"""The federation's tables and the code that keeps them: this node's logs and their Merkle
trees, peers' copies, sync state, quarantine and equivocation evidence (SQLAlchemy, SQLite
or PostgreSQL). Built on `federation.core`; knows nothing of the network.
"""
