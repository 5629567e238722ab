/**
 * What Django's UserCreationForm does with a username: `UsernameField` strips it and applies
 * NFKC (`unicodedata.normalize`, as `AbstractBaseUser.normalize_username` does again on save),
 * the form's CharField checks `max_length` (150) and NUL characters, and the model's
 * `UnicodeUsernameValidator` runs only if those passed (Django excludes a field that already
 * failed from model validation). The codes and messages are Django 3.2's (English);
 * test/interop/account-register.test.ts compares them with the real form.
 */
import { pyLen, pyStrip } from './python-text.ts'

/** One field error as Django's `form.errors.get_json_data()` gives it. */
export interface FieldProblem {
  code: string
  message: string
}

/** AbstractUser.username's `max_length`. */
export const USERNAME_MAX_LENGTH = 150

// `^[\w.@+-]+\Z` with Python's Unicode \w (letters, numbers, underscore: python-text.ts).
const UNICODE_USERNAME = /^[\p{L}\p{N}_.@+-]+$/u

/** `UsernameField.to_python`: stripped, then NFKC. */
export function cleanUsername(raw: string): string {
  return pyStrip(raw).normalize('NFKC')
}

/** The username field's errors for an already cleaned value; [] when it is acceptable. */
export function usernameProblems(username: string): FieldProblem[] {
  if (username === '') return [{ code: 'required', message: 'This field is required.' }]
  const problems: FieldProblem[] = []
  const length = pyLen(username)
  if (length > USERNAME_MAX_LENGTH) {
    problems.push({
      code: 'max_length',
      message: `Ensure this value has at most ${USERNAME_MAX_LENGTH} characters (it has ${length}).`,
    })
  }
  if (username.includes('\0')) {
    problems.push({
      code: 'null_characters_not_allowed',
      message: 'Null characters are not allowed.',
    })
  }
  if (problems.length > 0) return problems
  if (!UNICODE_USERNAME.test(username)) {
    return [
      {
        code: 'invalid',
        message:
          'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
      },
    ]
  }
  return []
}

/** Django's unique error for the username field (the model's `unique` error message). */
export const USERNAME_TAKEN: FieldProblem = {
  code: 'unique',
  message: 'A user with that username already exists.',
}
