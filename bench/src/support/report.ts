// Every benchmark states its verdict the same way, one line per measure ending in PASS or MISS, which the runner
// collects into its summary. A miss is reported, never thrown: benchmarks inform, tests decide.

export type Target = { atMost: number } | { atLeast: number }

export function verdict(id: string, measure: string, value: number, target: Target, unit = ''): void {
  const met = 'atMost' in target ? value <= target.atMost : value >= target.atLeast
  const bound = 'atMost' in target ? `<= ${target.atMost}` : `>= ${target.atLeast}`
  // A ratio next to its target needs a third decimal: 1.054 rounds to 1.05 and would read as met.
  const shown = unit === '' && !Number.isInteger(value) ? value.toFixed(3) : format(value)
  console.log(`${id} ${measure}: ${shown}${unit} (target ${bound}${unit}) ${met ? 'PASS' : 'MISS'}`)
}

export function format(value: number): string {
  if (!Number.isFinite(value) || Number.isInteger(value)) return String(value)
  if (Math.abs(value) >= 100) return value.toFixed(0)
  if (Math.abs(value) >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** One line per variant: its median and how many samples it came from. */
export function printMedians(
  title: string,
  values: Record<string, number>,
  unit: string,
  samples: number,
): void {
  console.log(`${title} (median of ${samples})`)
  const width = Math.max(...Object.keys(values).map((name) => name.length))
  for (const [name, value] of Object.entries(values)) {
    console.log(`  ${name.padEnd(width)}  ${format(value).padStart(8)} ${unit}`)
  }
}
