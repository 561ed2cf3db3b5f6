"""Business logic: keyword-only functions taking a SQLAlchemy ``session``; no Flask request."""
