import { useCallback, useEffect, useRef, useState } from 'preact/hooks'

export interface Load<T> {
  data: T | undefined
  error: Error | undefined
  loading: boolean
  reload: () => void
}

/**
 * Runs `fn` when `deps` change (and on `reload`), keeping the last data while a new load runs so charts do
 * not flash on auto-refresh. A superseded load is aborted and its answer ignored.
 */
export function useLoad<T>(fn: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Load<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<Error>()
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const fnRef = useRef(fn)
  fnRef.current = fn
  useEffect(() => {
    const controller = new AbortController()
    setLoading(true)
    fnRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return
        setData(value)
        setError(undefined)
        setLoading(false)
      },
      (err: Error) => {
        if (controller.signal.aborted) return
        setError(err)
        setLoading(false)
      },
    )
    return () => controller.abort()
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}
