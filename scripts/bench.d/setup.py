"""Bench set-up: signs the bench citizen in, consents, and collects a session cookie,
an access token and refresh tokens for the load scenarios."""
import base64, json, re, sys, urllib.parse, urllib.request, http.cookiejar

base, secret, out, n_refresh, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
jar = http.cookiejar.CookieJar()

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))

def call(url, data=None, headers=None):
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode() if data else None, headers=headers or {})
    try:
        r = opener.open(req)
        return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()

def hidden(html, name):
    return re.search(r'name="%s" value="([^"]*)"' % name, html).group(1)

def authorize(scope):
    q = urllib.parse.urlencode({"client_id": "bench-rp", "redirect_uri": "http://127.0.0.1:9/cb",
                                "response_type": "code", "scope": scope, "state": "s"})
    status, headers, _ = call(f"{base}/authorize?{q}")
    loc = headers["Location"]
    for _ in range(3):
        if not loc.startswith("/"):
            return urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
        _, _, html = call(base + loc)
        if loc.startswith("/login"):
            form = {"csrf": hidden(html, "csrf"), "interaction": hidden(html, "interaction"),
                    "email": "bench@example.test", "password": "Banc-Essai-Charge-93"}
            _, headers, _ = call(f"{base}/login", form)
        else:
            form = {"csrf": hidden(html, "csrf"), "interaction": hidden(html, "interaction"), "decision": "accept"}
            _, headers, _ = call(f"{base}/consent", form)
        loc = headers["Location"]
    raise SystemExit("bench setup: no code")

basic = "Basic " + base64.b64encode(f"bench-rp:{secret}".encode()).decode()

def redeem(code):
    status, _, body = call(f"{base}/token", {"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": "http://127.0.0.1:9/cb"}, {"Authorization": basic})
    assert status == 200, body
    return json.loads(body)

tokens = redeem(authorize("openid email profile offline_access"))
open(f"{out}/access_token", "w").write(tokens["access_token"])
cookie = next(c for c in jar if c.name == "sesame_session")
open(f"{out}/cookie", "w").write(f"sesame_session={cookie.value}")
# A pool per round: a round rotates its tokens, so the next needs fresh ones.
for r in range(1, rounds + 1):
    refresh = [redeem(authorize("openid email profile offline_access"))["refresh_token"] for _ in range(n_refresh)]
    open(f"{out}/refresh_tokens.{r}", "w").write("\n".join(refresh) + "\n")
