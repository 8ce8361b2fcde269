"""A local multi-node devnet: manifests, the directory layout, node processes, status over RPC
and the perturbation scheduler behind `porchain devnet` (PROTOCOL section 13)."""
