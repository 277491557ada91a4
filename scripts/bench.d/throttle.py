"""Throttle scenario: a guessing loop against one account, while another citizen signs in.

    python3 scripts/bench.d/throttle.py BASE SECONDS GUESSERS CITIZEN_PASSWORD

The guessers post wrong passwords for guessed@example.test as fast as they can (every
attempt from 127.0.0.1); the citizen (bench@example.test, from 127.0.0.2, another client
address) signs in once every 0.5 s, before and during the attack. Prints how many guesses
were checked (argon2 run: 200 « incorrect ») against the schedule [policy] allows, how many
were turned away with 429, and the citizen's sign-in times before and during the attack.
Only the standard library: http.client keeps one connection per worker and lets the
citizen's connections leave from another local address."""
import http.client, re, statistics, sys, threading, time, urllib.parse

base, seconds, guessers, citizen_password = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port


class Browser:
    """One keep-alive connection and the cookies it was given."""

    def __init__(self, source):
        self.conn = http.client.HTTPConnection(host, port, source_address=(source, 0), timeout=60)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        text = r.read().decode()
        for value in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return r.status, text

    def sign_in(self, email, password):
        _, page = self.request("GET", "/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)
        status, _ = self.request("POST", "/login", {"csrf": csrf, "email": email, "password": password})
        return status


stop = threading.Event()
counts = {"checked": 0, "throttled": 0, "other": 0}
first_check, lock = [], threading.Lock()


def guess():
    b = Browser("127.0.0.1")
    n = 0
    while not stop.is_set():
        n += 1
        status = b.sign_in("guessed@example.test", f"Guess-{threading.get_ident()}-{n}")
        key = {200: "checked", 429: "throttled"}.get(status, "other")
        with lock:
            counts[key] += 1
            if key == "checked" and not first_check:
                first_check.append(time.monotonic())


def citizen(duration):
    """Sign-in times (ms) of the citizen, one every 0.5 s for `duration` seconds."""
    times, end = [], time.monotonic() + duration
    while time.monotonic() < end:
        b = Browser("127.0.0.2")
        t = time.monotonic()
        status = b.sign_in("bench@example.test", citizen_password)
        if status != 303:
            raise SystemExit(f"the citizen's sign-in answered {status}")
        times.append((time.monotonic() - t) * 1000)
        time.sleep(max(0, 0.5 - (time.monotonic() - t)))
    return times


def summary(times):
    times = sorted(times)
    return f"{len(times)} sign-ins, median {statistics.median(times):.0f} ms, p90 {times[int(len(times) * 0.9) - 1]:.0f} ms, max {times[-1]:.0f} ms"


quiet = citizen(min(10, seconds / 3))
workers = [threading.Thread(target=guess, daemon=True) for _ in range(guessers)]
start = time.monotonic()
for w in workers:
    w.start()
during = citizen(seconds)
stop.set()
elapsed = time.monotonic() - start

# What the defaults allow in `elapsed` seconds: 5 free failures, then one per block
# (2 s, doubling, at most 900 s); the count of a run is kept for the whole attack.
allowed, t, delay = 6, 0.0, 2
while t + delay <= elapsed:
    t += delay
    allowed += 1
    delay = min(delay * 2, 900)
print(f"guessing loop: {guessers} workers for {elapsed:.0f} s, {counts['checked'] + counts['throttled']} attempts")
print(f"  checked (argon2 run): {counts['checked']}   allowed by the policy: {allowed}   "
      f"throttled (429, no argon2): {counts['throttled']}   other: {counts['other']}")
print(f"  guesses per second: {(counts['checked'] + counts['throttled']) / elapsed:.0f} answered, "
      f"{counts['checked'] / elapsed:.2f} checked")
print(f"citizen before the attack: {summary(quiet)}")
print(f"citizen during the attack: {summary(during)}")
