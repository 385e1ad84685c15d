"""Tests for the V2X integration, its device library and its simulator."""
