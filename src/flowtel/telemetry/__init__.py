"""flowtel's telemetry: the OTel mapping of runs, SDK set-up and the console tree."""
