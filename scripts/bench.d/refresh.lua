-- Refresh token rotation: each answer's new refresh token goes back in the pool.
local basic
local pool = {}
function init(args)
  basic = "Basic " .. args[1]
  for line in io.lines(args[2]) do table.insert(pool, line) end
end
function request()
  local token = table.remove(pool, 1)
  if not token then return wrk.format("GET", "/jwks.json") end
  return wrk.format("POST", "/token", {["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded"},
    "grant_type=refresh_token&refresh_token=" .. token)
end
function response(status, headers, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then table.insert(pool, token)
  elseif status ~= 200 then io.stderr:write("refresh: " .. status .. " " .. body .. "\n") end
end
