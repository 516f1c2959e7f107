/**
 * The page a browser gets, with the 401, from a daemon started with
 * `--metrics-token` (src/node/http.ts `signInPage`). It takes the token from
 * the address's fragment (`http://HOST:PORT/#token=TOKEN`: a fragment is
 * never sent to the server, so it stays out of request lines, logs and
 * Referer headers, and the page removes it from the address bar at once) or
 * from a password field, keeps it in sessionStorage (per origin, so per
 * daemon port, and gone with the tab: unlike a cookie it never travels to
 * another port of the same host), and loads the dashboard with
 * `Authorization: Bearer TOKEN`, the one way every route is authorized.
 * The page itself holds no figure of the daemon.
 */

/** sessionStorage key of the token (shared with the dashboard's script). */
export const TOKEN_STORAGE_KEY = 'gossip-learn-metrics-token';

export const SIGN_IN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">
<title>gossip-learn: metrics token</title>
<style>body{font:15px system-ui,sans-serif;margin:3em auto;max-width:32em;color:#222}input{font:inherit;width:100%;margin:.5em 0}button{font:inherit}#error{color:#b00}</style>
</head><body>
<h1>gossip-learn</h1>
<p>This daemon runs with <code>--metrics-token</code>. Enter it to open the dashboard (it stays in this tab only).</p>
<form id="form"><label>Metrics token <input id="token" type="password" autocomplete="current-password" required></label><button>Open</button></form>
<p id="error"></p>
<script>
(function () {
  var KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  var error = document.getElementById('error');
  function open(token) {
    fetch(location.pathname + location.search, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' }).then(function (response) {
      if (response.status === 401) {
        sessionStorage.removeItem(KEY);
        error.textContent = 'That token is not this daemon\\'s --metrics-token.';
        return;
      }
      sessionStorage.setItem(KEY, token);
      return response.text().then(function (html) {
        document.open();
        document.write(html);
        document.close();
      });
    }, function (err) { error.textContent = 'The daemon did not answer: ' + err.message; });
  }
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search);
    open(decodeURIComponent(match[1]));
  } else if (sessionStorage.getItem(KEY)) {
    open(sessionStorage.getItem(KEY));
  }
  document.getElementById('form').addEventListener('submit', function (event) {
    event.preventDefault();
    open(document.getElementById('token').value);
  });
})();
</script>
</body></html>
`;
