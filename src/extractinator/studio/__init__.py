"""The studio: a local web app to build tasks, run them, and review and score the results.

Server-rendered (FastAPI + jinja2, a little vanilla JS, no external assets). Start it with
``extractinator studio``; the app factory is :func:`extractinator.studio.app.create_app`.
"""
