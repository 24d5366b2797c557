"""The API's error type: a machine-readable code, an HTTP status and a sentence for people."""

from __future__ import annotations


class ApiError(Exception):
    """An error the API reports as ``{"error": code, "message": message}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def as_json(self) -> dict[str, str]:
        """The response body."""
        return {"error": self.code, "message": self.message}
