"""Online predictions: `keel serve`, a FastAPI app that answers with the model batch scoring uses.

payload.py  a request's rows -> the model's feature frame, with 400-worthy errors named
models.py   the served model: resolved and checked like batch scoring, swapped when the champion moves
app.py      the HTTP interface (Vertex AI custom-container contract; Cloud Run alike)
"""
