"""Judicial governance (PROTOCOL section 11): REP used against the DAO's rules is slashed,
objectively when the proof is in the chain (EVIDENCE of an equivocation or an invalid block)
and by a randomly drawn jury voting by secret ballot when it is a judgement (an ACCUSE of
censorship).

Like `governance`, it plugs into porchain through entry points: its rules
(`porchain.modules`), its automatic whistleblower and jurors in a running node
(`porchain.node`), its `jud_` RPC methods (`porchain.rpc`) and its `porchain jud` commands
(`porchain.cli`); porchain's core never imports it.
"""
