"""porchain: a Proof-of-Reputation blockchain whose block producers form a DAO."""

__version__ = "0.1.0"
