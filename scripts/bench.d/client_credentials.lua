-- client_credentials: one token per request.
function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Basic " .. args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = "grant_type=client_credentials&scope=roles"
end
function response(status)
  if status ~= 200 then io.stderr:write("client_credentials: " .. status .. "\n") end
end
