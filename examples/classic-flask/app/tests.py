"""Checks the running service. CircleCI ran it on port 80; Slipway publishes
a free port and says which in SLIPWAY_URL."""
import os
import unittest
import urllib.request

URL = os.environ.get("SLIPWAY_URL", "http://localhost:80")


class TestService(unittest.TestCase):
    def test_hello_world(self):
        with urllib.request.urlopen(URL + "/", timeout=10) as answer:
            self.assertEqual(answer.status, 200)
            self.assertIn(b"Hello World!", answer.read())


if __name__ == "__main__":
    unittest.main()
