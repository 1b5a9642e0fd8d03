// The panel's language: the one the agent chose (kept on the account), else the browser's.
import { availableLocales, currentLocale, errorText, loadCatalogue, translateTree } from '../shared/i18n.js';

/** Load the agent's catalogue and translate the page's static text (data-i18n). */
export async function useAgentLocale(api, me) {
  await loadCatalogue(api, [me && me.locale, ...(navigator.languages || [navigator.language])]);
  translateTree(document);
  document.documentElement.lang = currentLocale();
}

/** The language menu in the top bar: each language by its own name; a choice is saved and shown at once. */
export class LocaleMenu {
  constructor({ api, select }) {
    this.api = api;
    this.select = select;
  }

  start() {
    const options = availableLocales().map(({ code, name }) => {
      const option = document.createElement('option');
      option.value = code;
      option.textContent = name;
      option.lang = code;
      option.setAttribute('translate', 'no'); // a language is named in its own words
      option.selected = code === currentLocale();
      return option;
    });
    this.select.replaceChildren(...options);
    this.select.addEventListener('change', () => this.choose(this.select.value));
  }

  async choose(code) {
    this.select.disabled = true;
    try {
      await this.api.post('/api/auth/locale', { locale: code });
      location.reload();
    } catch (error) {
      this.select.disabled = false;
      this.select.value = currentLocale();
      this.select.title = errorText(error);
    }
  }
}
