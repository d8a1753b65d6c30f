"""Tools outside the runtime path: demo libraries, benchmarks and key-model reports."""
