"""Scale benchmark of the backup cycle (`make bench`): real handlers, moto, a simulated AWS.

See BENCHMARKS.md for the model. The package is never shipped in the Lambda zip.
"""
