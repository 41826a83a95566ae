"""The demo (`denex demo`): a federation of three nodes on 127.0.0.1, end to end, for a
newcomer to watch.

It runs the commands an operator runs (`denex init`, `token create`, `node card`, `peer add`,
`serve`, `sync`, `verify-log`) as separate processes, each node with its own data dir and
SQLite file; publishes invented surveillance-technology denials through the officers' API;
waits for the nodes to sync; verifies every copy of every log; and keeps the nodes serving
until Ctrl-C. It prints each step as it goes. It owns no logic about logs or notices: what it
shows is what the real commands and the real API answer.

The cast is `script`, the processes `nodes` (through `service.harness`), the steps
`walkthrough`; the command itself is `service.cli.demo`.
"""
