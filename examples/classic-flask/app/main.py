"""The classic Docker CI tutorial's web app: a Flask "Hello World!"."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello World!"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=80)
