-- A signed-in citizen's authorization code flow: GET /authorize (session cookie,
-- consent given) answers a code; the next request redeems a pending code at /token.
local cookie, basic
local codes = {}
local auth_path = "/authorize?client_id=bench-rp&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&response_type=code&scope=openid%20email&state=s"
function init(args)
  cookie = args[1]
  basic = "Basic " .. args[2]
end
function request()
  local code = table.remove(codes)
  if code then
    return wrk.format("POST", "/token", {["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded"},
      "grant_type=authorization_code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code=" .. code)
  end
  return wrk.format("GET", auth_path, {["Cookie"] = cookie})
end
function response(status, headers, body)
  local loc = headers["Location"] or headers["location"]
  if loc then
    local code = string.match(loc, "code=([^&]+)")
    if code then table.insert(codes, code) end
  elseif status ~= 200 then
    io.stderr:write("flow: " .. status .. " " .. body .. "\n")
  end
end
