"""The live fuzzing campaign of `benchmarks/fuzz_live.py`: one job per module.

lab: the devnet and its node processes; monitor: what the target's process and RPC show;
wire: fake peers and HTTP; mutations: the bytes and values sent; attacks: the attack kinds
and the eclipse; campaign: the attack loop, sampling and signals; report: judgement, output.
"""
