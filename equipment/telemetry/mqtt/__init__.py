"""The MQTT transport of the telemetry domain: the paho client, the consumer loop, the embedded Mosquitto,
the broker's credential files and guard plugin, and `serve`'s background runtime. The domain itself (payload
validation, rules, alarms, storage: equipment/telemetry/*.py) knows nothing of MQTT; the consumer hands it
batches (ingest.Ingestor.process) inside one transaction."""
