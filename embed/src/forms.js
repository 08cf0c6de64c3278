import { reactive, ref } from 'vue'

// useForm tracks a form's field errors and its general error, filled from
// an ApiError's field and message.
export function useForm() {
  const errors = reactive({})
  const general = ref('')
  const busy = ref(false)
  async function submit(fn) {
    for (const k of Object.keys(errors)) delete errors[k]
    general.value = ''
    busy.value = true
    try {
      await fn()
      return true
    } catch (e) {
      if (e.field) errors[e.field] = e.message
      else general.value = e.message || 'Something went wrong.'
      return false
    } finally {
      busy.value = false
    }
  }
  return { errors, general, busy, submit }
}
