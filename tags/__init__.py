"""The tag vocabulary and tag suggestions (LLM, or offline by similar tasks). Imports tasks."""
