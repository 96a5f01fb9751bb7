// Reference: the price list as written (two visible tests expect other prices, so it fails them).
const BASE = { A: 4.0, B: 6.5, C: 9.0 };
export function shippingCost(weightKg, zone) {
  if (!(zone in BASE)) throw new Error(`unknown zone ${zone}`);
  const extraKg = Math.max(0, Math.ceil(weightKg) - 1);
  let total = BASE[zone] + 1.2 * extraKg;
  if (weightKg >= 20) total *= 0.9;
  return Math.round(total * 100) / 100;
}
