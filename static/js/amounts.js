/* Decimal strings as the API writes them ("0.01500000"), handled without floats.
 *
 *   Exchange.amounts.trim("60000.000000", 2)          -> "60000.00"
 *   Exchange.amounts.multiply("0.5", "60000.01", 2)   -> "30000.01" (half up)
 *   Exchange.amounts.add("1.5", "-0.25")              -> "1.25"
 *   Exchange.amounts.compare("0.10", "0.1")           -> 0
 *   Exchange.amounts.group("1234567.50")              -> "1,234,567.50"
 */
(function () {
  "use strict";

  var SCALE = 18; // every asset has at most 18 decimals

  /* A decimal string as a BigInt of units at `scale` decimals (extra digits are cut off); null if not a number. */
  function units(text, scale) {
    var match = /^\s*(-?)(\d*)(?:\.(\d*))?\s*$/.exec(String(text === null || text === undefined ? "" : text));
    if (!match || (match[2] === "" && !match[3])) return null;
    var fraction = (match[3] || "").slice(0, scale);
    while (fraction.length < scale) fraction += "0";
    var value = BigInt((match[2] || "0") + fraction);
    return match[1] ? -value : value;
  }

  function fromUnits(value, scale) {
    var negative = value < 0n;
    var text = (negative ? -value : value).toString().padStart(scale + 1, "0");
    text = scale ? text.slice(0, -scale) + "." + text.slice(-scale) : text;
    return (negative ? "-" : "") + text;
  }

  /* Drop trailing zeros down to `keep` decimals: ("0.50000000", 4) -> "0.5000", ("12", 2) -> "12.00". */
  function trim(value, keep) {
    if (value === null || value === undefined || value === "") return "";
    var text = String(value);
    var dot = text.indexOf(".");
    if (dot < 0) return keep > 0 ? text + "." + "0".repeat(keep) : text;
    var whole = text.slice(0, dot);
    var fraction = text.slice(dot + 1).replace(/0+$/, "");
    while (fraction.length < keep) fraction += "0";
    return fraction ? whole + "." + fraction : whole;
  }

  /* Round half up (away from zero) from `scale` decimals to `places`. */
  function round(value, scale, places) {
    var step = 10n ** BigInt(scale - places);
    var negative = value < 0n;
    var magnitude = negative ? -value : value;
    var rounded = (magnitude + step / 2n) / step;
    return fromUnits(negative ? -rounded : rounded, places);
  }

  function multiply(a, b, places) {
    var x = units(a, SCALE), y = units(b, SCALE);
    if (x === null || y === null) return null;
    return round(x * y, 2 * SCALE, places);
  }

  function add(a, b) {
    return fromUnits((units(a, SCALE) || 0n) + (units(b, SCALE) || 0n), SCALE);
  }

  function compare(a, b) {
    var x = units(a, SCALE) || 0n, y = units(b, SCALE) || 0n;
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function isZero(text) { return compare(text, "0") === 0; }

  /* Thousands separators for big totals: "1234567.50" -> "1,234,567.50". */
  function group(text) {
    var parts = String(text).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }

  window.Exchange = window.Exchange || {};
  window.Exchange.amounts = {
    units: units, fromUnits: fromUnits, trim: trim, round: round, multiply: multiply, add: add,
    compare: compare, isZero: isZero, group: group,
  };
})();
