"""Outgoing webhooks: admin-managed endpoints, signed deliveries, retries and a delivery log."""
