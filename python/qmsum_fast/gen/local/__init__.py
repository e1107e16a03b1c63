"""The in-process engine: transformers + accelerate (models, batching, prefix
reuse, remote-code compatibility, adapters, MPT attention, make-model)."""
