"""Optimization tier (book Modules 14-18): profiling, quantization, compression, KV cache,
acceleration. Import the module you need, as the book does:
``from tinytorch.perf.quantization import quantize_model, QuantizedLinear``."""
