"""Code that runs in AWS Lambda, packaged by the program from these directories as they are (no build step): each
subpackage is one function's bundle and imports only the standard library and boto3 (both in the runtime)."""
