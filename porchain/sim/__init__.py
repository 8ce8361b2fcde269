"""`porchain sim`: many real nodes in one process, on virtual time, reproducible from a seed
(PROTOCOL section 13).

- `scenario`: a scenario file (a devnet manifest plus `[network]` and `[load]`), checked
- `network`: the nodes over the memory transport on one trio clock (also what tests run on)
- `seeds`: every random choice of a run, derived from its seed
- `load`: the transfers a scenario sends each slot
- `record`: what a run writes (metrics.csv, events.jsonl, summary.json)
- `readings`, `plots`, `report`: report.md and its PNG plots, rebuilt from those files
- `runner`: one run of a scenario, from its seed to its output files
"""
