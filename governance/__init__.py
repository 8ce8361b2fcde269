"""Legislative governance: the forum, the reference mechanism, proposals, gREP and WSC upgrades.

It plugs into the state transition through porchain's module interface (the `porchain.modules`
entry point), adds its RPC methods (`porchain.rpc`) and its `porchain gov` commands
(`porchain.cli`); porchain's core never imports it.
"""
