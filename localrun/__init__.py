"""Local runtime: moto's server, a virtual clock, the schedule and the SQS event source
mapping around the real handlers. Never shipped in the Lambda zip."""
