"""Overcast: a private cloud that speaks the AWS APIs."""
