-- introspection: a confidential client asks about its own access token.
function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Basic " .. args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = "token=" .. args[2]
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"active":true', 1, true) then
    io.stderr:write("introspection: " .. status .. " " .. body .. "\n")
  end
end
