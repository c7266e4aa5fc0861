"""Local mode: the synthesized app's REST APIs on localhost, with no AWS account and no Docker."""
