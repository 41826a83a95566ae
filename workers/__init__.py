"""Worker processes for CPU-bound jobs: a pool that runs a named, module-level function on
pickled arguments in light `python -m workers.pool` processes (`workers.pool`), which die
with their parent (`workers.lifeline`). This package imports nothing of denex: a worker
imports only the module of the job it is given, so federation's verify workers never load
the service and the service's jobs never load the web app or the database layer."""
