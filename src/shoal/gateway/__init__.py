"""Routing models to upstream providers: deployments, failover, circuit breakers, and the
clients that speak OpenAI's and Fish's wire formats to them."""
