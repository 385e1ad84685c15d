"""Tests of the core (devices/, planner/, backup/): they import and run without Home Assistant."""
