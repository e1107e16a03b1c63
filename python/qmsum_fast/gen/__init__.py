"""Generation: a shared floor (configuration, prompting and inputs, strategies,
output, progress, the run loop) and two engine rooms, :mod:`.local`
(transformers + accelerate in this process) and :mod:`.served`
(OpenAI-compatible servers), which import the floor and never each other."""
