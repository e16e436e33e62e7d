"""Performance (book Modules 14-18): profiling, quantization, compression, KV cache,
acceleration. Each module is imported by its own path (``tinytorch.perf.compression``)."""
