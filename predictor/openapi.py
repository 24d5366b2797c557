"""The OpenAPI 3 description of the API, served at ``/openapi.json``."""

from __future__ import annotations

from predictor.settings import PredictorSettings

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code, e.g. empty_image"},
        "message": {"type": "string", "description": "a sentence for people"},
    },
}
MODEL = {
    "type": "object",
    "properties": {key: {"type": "string"} for key in ("name", "version", "alias", "run_id")},
}

FEEDBACK = {
    "type": "object",
    "properties": {
        "prediction_id": {"type": "string"},
        "label": {"type": "integer"},
        "status": {"type": "string", "enum": ["created", "replaced"]},
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(settings: PredictorSettings) -> dict:
    """The document, with the configured limits written into the descriptions."""
    image_schema = {"type": "string", "format": "binary"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "mnist-mlops predictor",
            "version": "1.0.0",
            "description": f"Reads a drawn digit and answers what {settings.model_name}@{settings.model_alias} "
            "thinks it is. Drawings are normalised the way MNIST was made (ink box fitted to 20x20, "
            "centre of mass centred in 28x28) before the model sees them.",
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Classify a drawn digit",
                    "parameters": [
                        {
                            "name": "debug",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["0", "1", "true"]},
                            "description": "1: also return the 28x28 image the model saw, as a PNG data URL",
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "description": f"PNG, JPEG, WebP, GIF or BMP; at most {settings.max_body_bytes} bytes and "
                        f"{settings.max_image_pixels} pixels.",
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {"image": image_schema},
                                },
                            },
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {
                                        "image": {
                                            "type": "string",
                                            "description": "data URL (data:image/png;base64,...) or base64",
                                        }
                                    },
                                },
                            },
                            "image/png": {"schema": image_schema},
                            "image/jpeg": {"schema": image_schema},
                            "image/webp": {"schema": image_schema},
                            "image/gif": {"schema": image_schema},
                            "image/bmp": {"schema": image_schema},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The prediction",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Prediction"}}},
                        },
                        "400": _error("Missing field, bad JSON, bad base64 or an undecodable image"),
                        "413": _error("Body or image larger than the configured limits"),
                        "415": _error("Unsupported content type or image format"),
                        "422": _error("Empty canvas (error: empty_image)"),
                        "503": _error("No model to serve yet (error: model_unavailable)"),
                    },
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Say which digit a prediction should have been",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["prediction_id", "label"],
                                    "properties": {
                                        "prediction_id": {"type": "string", "description": "as /predict returned it"},
                                        "label": {"type": "integer", "minimum": 0, "maximum": 9},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "Stored", "content": {"application/json": {"schema": FEEDBACK}}},
                        "200": {
                            "description": "Stored, replacing an earlier label for the same prediction",
                            "content": {"application/json": {"schema": FEEDBACK}},
                        },
                        "400": _error("Not JSON, or no prediction_id"),
                        "404": _error("No prediction with that id (unknown, or past the retention)"),
                        "422": _error("The label is not an integer from 0 to 9"),
                        "503": _error("The prediction database is unavailable, or the log is turned off"),
                    },
                }
            },
            "/health": {"get": {"summary": "The process is alive", "responses": {"200": {"description": "alive"}}}},
            "/ready": {
                "get": {
                    "summary": "A model is loaded",
                    "responses": {"200": {"description": "ready"}, "503": {"description": "no model loaded yet"}},
                }
            },
            "/model": {
                "get": {
                    "summary": "The served model",
                    "responses": {
                        "200": {
                            "description": "name, version, alias, run id, loaded-at, source",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": _error("No model loaded yet"),
                    },
                }
            },
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}},
        },
        "components": {
            "schemas": {
                "Error": ERROR,
                "Prediction": {
                    "type": "object",
                    "required": ["prediction_id", "digit", "confidence", "probabilities", "top", "model"],
                    "properties": {
                        "prediction_id": {"type": "string", "description": "opaque; send it to /feedback"},
                        "digit": {"type": "integer", "minimum": 0, "maximum": 9},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "probabilities": {"type": "array", "items": {"type": "number"}, "minItems": 10, "maxItems": 10},
                        "top": {
                            "type": "array",
                            "maxItems": 3,
                            "items": {
                                "type": "object",
                                "properties": {"digit": {"type": "integer"}, "probability": {"type": "number"}},
                            },
                        },
                        "model": MODEL,
                        "input_image": {"type": "string", "description": "with ?debug=1: PNG data URL"},
                    },
                },
            }
        },
    }
