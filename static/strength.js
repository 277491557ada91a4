/* Sésame — the password strength indicator (progressive enhancement).
 *
 * Under a new-password field, ticks each rule of the configured policy as
 * it is met and estimates a strength level, in the page: the password
 * never leaves the form before it is submitted (the page's CSP allows no
 * connection anyway), and the server's own check stays the authority.
 * Without this script the form works the same; the indicator stays hidden.
 *
 * The page gives the rules (`data-rule` on each item of the list, from
 * `[policy]`) and every text (data attributes, French or English); the
 * server puts its list of common passwords in COMMON when it serves this
 * file. The estimate is much simpler than zxcvbn, but never calls strong a
 * common password or a variant of one, a repeated character, a sequence
 * or a password holding the citizen's name or address.
 */
(function () {
  "use strict";

  var COMMON = new Set(/*COMMON_PASSWORDS*/[]);

  /* Lowercase, without accents (as the server folds before its list). */
  function fold(s) {
    return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  var LEET = { "0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t" };
  function unleet(s) {
    return s.replace(/[0134@5$7!]/g, function (c) { return LEET[c]; });
  }
  function trimNonLetters(s) {
    return s.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, "");
  }

  /* The server's rule: a listed word, or one with case, accents,
   * leetspeak and digits or symbols around it. */
  function isCommon(password) {
    var folded = fold(password);
    var candidates = [
      folded,
      unleet(folded),
      unleet(trimNonLetters(folded)),
      trimNonLetters(unleet(folded)),
    ];
    return candidates.some(function (c) { return c !== "" && COMMON.has(c); });
  }

  var CLASSES = {
    lower: function (p) { return /\p{Ll}/u.test(p); },
    upper: function (p) { return /\p{Lu}/u.test(p); },
    digit: function (p) { return /[0-9]/.test(p); },
    symbol: function (p) { return /[^\p{L}\p{N}]/u.test(p); },
  };

  function ruleMet(item, password) {
    var rule = item.getAttribute("data-rule");
    if (rule === "length") {
      var n = Array.from(password).length;
      return n >= Number(item.getAttribute("data-figure")) && n <= 128;
    }
    if (rule === "common") {
      return password !== "" && !isCommon(password);
    }
    var test = CLASSES[rule];
    return test ? test(password) : false;
  }

  /* Bits of a brute-force search, with repeats and sequences counted as
   * almost nothing: "aaaaaaaa" and "abcd1234" stay weak. */
  function bits(password) {
    var chars = Array.from(password);
    var pool = 0;
    if (CLASSES.lower(password)) pool += 26;
    if (CLASSES.upper(password)) pool += 26;
    if (/[0-9]/.test(password)) pool += 10;
    if (/[^\p{L}\p{N}]/u.test(password)) pool += 33;
    if (/[^\x00-\x7f]/.test(password)) pool += 60;
    var perChar = Math.log2(Math.max(pool, 2));
    /* Case does not make a repeat or a sequence new: "Aaaa", "aBcD". */
    var folded = Array.from(password.toLowerCase());
    if (folded.length !== chars.length) folded = chars;
    var seen = new Map();
    var weight = 0;
    for (var i = 0; i < folded.length; i++) {
      var code = folded[i].codePointAt(0);
      var prev = i > 0 ? folded[i - 1].codePointAt(0) : null;
      var count = (seen.get(folded[i]) || 0) + 1;
      seen.set(folded[i], count);
      if (prev !== null && Math.abs(code - prev) <= 1) {
        weight += 0.25; /* repeat or sequence: aa, ab, 21 */
      } else if (count > 2) {
        weight += 0.5;
      } else {
        weight += 1;
      }
    }
    if (seen.size <= 3) {
      weight = Math.min(weight, 2); /* "Aa1Aa1Aa1…" */
    }
    return weight * perChar;
  }

  /* The citizen's own words found on the page (sign-up: names and
   * address; reset: the address), as the server refuses them. */
  function personalWords(form) {
    var words = [];
    ["email", "username", "family_name", "given_name"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || typeof field.value !== "string") return;
      var value = fold(field.value.split("@")[0]);
      value.split(/[^\p{L}\p{N}]+/u).concat([value]).forEach(function (w) {
        if (Array.from(w).length >= 3) words.push(w);
      });
    });
    return words;
  }

  /* 0 (très faible) to 4 (très fort). */
  function level(password, allMet, form) {
    if (isCommon(password)) return 0;
    var b = bits(password);
    var l = b < 30 ? 0 : b < 45 ? 1 : b < 60 ? 2 : b < 80 ? 3 : 4;
    var plain = unleet(fold(password));
    var personal = personalWords(form).some(function (w) {
      return fold(password).indexOf(w) >= 0 || plain.indexOf(w) >= 0;
    });
    if (!allMet || personal) l = Math.min(l, 1);
    return l;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  function attach(box) {
    var input = document.getElementById(box.getAttribute("data-strength-for"));
    if (!input || !input.form) return;
    var items = Array.from(box.querySelectorAll("[data-rule]"));
    var levels = box.getAttribute("data-levels").split("|");
    var word = box.querySelector(".strength-word");
    var bar = box.querySelector(".strength-bar");
    var live = box.querySelector("[aria-live]");
    var timer = null;

    function update() {
      var password = input.value;
      var met = 0;
      items.forEach(function (item) {
        var ok = ruleMet(item, password);
        if (ok) met++;
        item.classList.toggle("met", ok);
        item.querySelector(".strength-mark").textContent = ok ? "✓" : "✗";
        item.querySelector(".strength-state").textContent =
          " — " + box.getAttribute(ok ? "data-met" : "data-unmet");
      });
      var summary = "";
      if (password === "") {
        word.textContent = box.getAttribute("data-empty");
        bar.setAttribute("data-level", "");
      } else {
        var l = level(password, met === items.length, input.form);
        word.textContent = levels[l];
        bar.setAttribute("data-level", String(l));
        summary = fill(box.getAttribute("data-summary"), {
          level: levels[l],
          met: met,
          total: items.length,
        });
      }
      /* Announced once typing pauses, not at every key, and only when it
       says something new. */
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (live.textContent !== summary) live.textContent = summary;
      }, 700);
    }

    /* The whole form: a name typed after the password counts too. */
    input.form.addEventListener("input", update);
    box.hidden = false;
    update();
  }

  document.querySelectorAll("[data-strength-for]").forEach(attach);
})();
