"""JSON-RPC 2.0 over HTTP: methods named `namespace_camelCase`, served by hypercorn on trio."""
