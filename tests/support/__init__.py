"""Fakes of Discord, Slack and web sites, harnesses and fixtures shared by the tests and the benchmarks."""
